/**
 * The byte-level link to a device: serial (serialport) or TCP (node:net). Deliberately as small as
 * node-serialport's binding interface; framing and protocol live above it.
 */
export interface Transport {
  /** e.g. "tcp 192.168.1.20:4352" or "serial /dev/serial/by-id/usb-FTDI…@9600" — for logs and errors. */
  readonly description: string;
  readonly isOpen: boolean;
  /** Opens the link; rejects with AgentError (`disconnected`, `timeout`, `not_found`). */
  open(): Promise<void>;
  /** Writes and drains; rejects with `closed` after close() and `disconnected` when the link dropped. */
  write(data: Uint8Array): Promise<void>;
  /** Closes; never rejects. Listeners registered with onClose are not told about a requested close. */
  close(): Promise<void>;
  onData(listener: (chunk: Buffer) => void): void;
  /** The link was lost without close() being called (peer closed, adapter unplugged, I/O error). */
  onClose(listener: (err: Error) => void): void;
}
