// The coordination.k8s.io Leases macd and dhcpd write and the operator reads:
// their label and annotation keys, declared once (docs/macd.md, docs/dhcpd.md).

/** On every Lease of a MacPool's allocator replicas (block Leases): the pool's name. */
export const MAC_POOL_LABEL = 'alcor.dev/mac-pool';
/** On a block Lease: its first MAC and how many addresses it spans. */
export const BLOCK_START_ANNOTATION = 'alcor.dev/block-start';
export const BLOCK_SIZE_ANNOTATION = 'alcor.dev/block-size';
/** On a block Lease: the URL where the holder replica answers for the block's MACs. */
export const ENDPOINT_ANNOTATION = 'alcor.dev/endpoint';
/** On a block Lease: how many of the block's MACs are allocated. */
export const ALLOCATED_ANNOTATION = 'alcor.dev/allocated';
/** On a block Lease: JSON {"<range id>": <allocated MACs of the block inside that range>}; ranges may overlap. */
export const ALLOCATED_BY_RANGE_ANNOTATION = 'alcor.dev/allocated-by-range';

/** On a dhcpd server's status Lease: the DhcpSubnet it serves. */
export const DHCP_SERVER_LABEL = 'alcor.dev/dhcp-server';
/** On a dhcpd server's status Lease: JSON {"<subnet>": <bound leases>}. */
export const DHCP_LEASES_ANNOTATION = 'alcor.dev/leases';
/** On a dhcpd server's status Lease: JSON ConflictReport (dhcp-status.ts), quarantined addresses and recent conflicts per subnet. */
export const DHCP_CONFLICTS_ANNOTATION = 'alcor.dev/conflicts';
/** On a dhcpd server's status Lease: JSON ReservationReport (dhcp-status.ts), the state of each DhcpReservation in its share. */
export const DHCP_RESERVATIONS_ANNOTATION = 'alcor.dev/reservations';
