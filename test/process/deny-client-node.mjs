// Loaded with --import: any import of @kubernetes/client-node fails, so a
// process that still loads it (directly or through a module it imports)
// can't start or can't do its work.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, next) {
    if (specifier === '@kubernetes/client-node' || specifier.startsWith('@kubernetes/client-node/')) {
      throw new Error(`${context.parentURL ?? '(entry)'} loads @kubernetes/client-node`);
    }
    return next(specifier, context);
  },
});
