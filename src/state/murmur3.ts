/**
 * MurmurHash3, x86 32-bit variant (Austin Appleby's reference `MurmurHash3_x86_32`), over bytes.
 * Used to map serialized keys to key groups, so it must give the same answer in every process.
 */
export function murmur3_32(bytes: Uint8Array, seed = 0, length = bytes.length): number {
  let h = seed >>> 0
  const blocks = length & ~3
  let i = 0
  for (; i < blocks; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)
    k = Math.imul(k, 0xcc9e2d51)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, 0x1b873593)
    h ^= k
    h = (h << 13) | (h >>> 19)
    h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }
  const tail = length & 3
  if (tail > 0) {
    let k = 0
    if (tail === 3) k ^= bytes[i + 2] << 16
    if (tail >= 2) k ^= bytes[i + 1] << 8
    k ^= bytes[i]
    k = Math.imul(k, 0xcc9e2d51)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, 0x1b873593)
    h ^= k
  }
  h ^= length
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
