/**
 * Types of `cluster-key-slot` (installed with ioredis, which computes Redis
 * Cluster slots with it): the CRC16 slot of a key, hash tags included. Tests
 * use it to check that keys meant to share a slot do.
 */
declare module 'cluster-key-slot' {
  /** The Redis Cluster slot (0-16383) of a key. */
  function calculateSlot(key: string | Buffer): number;
  namespace calculateSlot {
    /** The slot of every key, or -1 when they are not all in one slot. */
    function generateMulti(keys: (string | Buffer)[]): number;
  }
  export = calculateSlot;
}
