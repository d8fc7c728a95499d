import { z } from 'zod';
import { macAddressPattern, macPrefixPattern, ouiPattern } from '../mac.ts';

// The configuration file of `alcor-operator macd`: what a MacPool's ConfigMap
// holds (rendered by src/render/macpool) and what a standalone run reads.

export const MacdRangeConfig = z.object({
  id: z.string().min(1),
  from: z.string().regex(macAddressPattern),
  to: z.string().regex(macAddressPattern),
});
export type MacdRangeConfig = z.infer<typeof MacdRangeConfig>;

export const MacdConfig = z.object({
  /** metadata.generation of the MacPool this was rendered from: reported back once applied (alcor.dev/served). */
  generation: z.number().int().min(0).optional(),
  /** Default OUI for the default range when `ranges` is empty (Alcor's macmanager.oui). */
  oui: z.string().regex(ouiPattern).default('aa:bb:cc'),
  /** Ranges from the MacPool; the first is the default range. Empty: range0 = oui:00:00:00-oui:ff:ff:ff. */
  ranges: z.array(MacdRangeConfig).default([]),
  /** Single MACs and prefixes never handed out. */
  exclusions: z.array(z.string().regex(macPrefixPattern)).default([]),
  /**
   * How replicas share the pool. `standalone`: one process owns every range.
   * `kubernetes`: each replica claims blocks of the ranges as coordination.k8s.io
   * Leases in `namespace` (optimistic concurrency), so N replicas never overlap.
   */
  coordination: z
    .discriminatedUnion('mode', [
      z.object({ mode: z.literal('standalone') }),
      z.object({
        mode: z.literal('kubernetes'),
        /** The MacPool these replicas serve: names and owns the block Leases. */
        pool: z.object({ name: z.string(), namespace: z.string(), uid: z.string() }),
        /** Addresses per block claimed at a time. */
        blockSize: z.number().int().min(256).max(16_777_216).default(65_536),
      }),
    ])
    .default({ mode: 'standalone' }),
});
export type MacdConfig = z.infer<typeof MacdConfig>;
export type MacdConfigInput = z.input<typeof MacdConfig>;
