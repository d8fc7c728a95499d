// This release's version: package.json's (test/chart/image.test.ts holds them
// together). The servers put it in their reports, so the operator can tell
// which replicas run which release during a rolling upgrade; the default
// image tag is this.
export const RELEASE_VERSION = '0.3.0';
