/**
 * Checksums of the device protocols, in one place: CRC-16/MODBUS (Modbus RTU relays, and frame profiles
 * that declare `crc16_modbus`), and the 8-bit sum and XOR some amplifiers use. Part of the base layer:
 * it imports nothing, so config/ (profile validation) and drivers/ may both use it.
 */

/** CRC-16/MODBUS: poly 0xA001 reflected, init 0xFFFF (Modbus over Serial Line V1.02 §6.2.2). */
const CRC_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** CRC-16/MODBUS of `data[start, end)`; on the wire it goes low byte first. */
export function crc16Modbus(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ CRC_TABLE[(crc ^ data[i]!) & 0xff]!;
  return crc;
}

/** Low byte of the sum of the bytes, seeded with `init`. */
export function sum8(data: Uint8Array, init = 0): number {
  let s = init;
  for (const b of data) s = (s + b) & 0xff;
  return s;
}

/** XOR of the bytes, seeded with `init`. */
export function xor8(data: Uint8Array, init = 0): number {
  let x = init & 0xff;
  for (const b of data) x ^= b;
  return x;
}
