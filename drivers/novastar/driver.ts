/**
 * `novastar`: NovaStar LED sending card (MCTRL/VX series) over TCP 5200 (docs/reference/protocols.md §4.1).
 * Brightness (0–255 register ↔ 0–100 %), blackout via the display mode register (2 = black,
 * 0 = normal), and model id, firmware and DVI status at open/poll for the inventory and as health.
 *
 * Power: mains of an LED wall is switched by a relay or sequencer (modbus_relay / frame_profile), not
 * by the controller. What the controller can tell [INFERENCE]: when it answers a read addressed to the
 * first receiving card, the cabinets are powered (`on`); when it reports ack 01 (timeout from the
 * receiving card) they are not (`off`).
 *
 * Requests are correlated by the serial byte (Companion's rolling counter), since a controller may
 * answer a timed-out request late.
 */
import type { z } from 'zod';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import type { NovastarDevice } from '../../config/schema.js';
import { FramedLink } from '../framed-link.js';
import type { Framer } from '../framing/types.js';
import { TcpTransport } from '../transport/tcp.js';
import type { Transport } from '../transport/types.js';
import type { DeviceCommand, DeviceDriver, DeviceFault, DeviceReading, DriverContext, DriverDefinition } from '../types.js';
import {
  ACK_TEXT,
  DEV_RECEIVING_CARD,
  DEV_SENDING_CARD,
  REG,
  brightnessToPercent,
  encodeRequest,
  percentToBrightness,
  replyParser,
  type NovaFrame,
  type NovaFrameParser,
  type NovaRequest,
} from './codec.js';

export type NovastarConfig = z.infer<typeof NovastarDevice>;

export interface NovastarTuning {
  timeoutMs?: number;
  connectTimeoutMs?: number;
  transport?: Transport;
}

/** NovaFrameParser behind the framework's Framer interface. */
export class NovaReplyFramer implements Framer<NovaFrame> {
  private parser: NovaFrameParser = replyParser();
  private base = 0;

  push(chunk: Uint8Array): NovaFrame[] {
    return this.parser.push(chunk);
  }

  reset(): void {
    this.base += this.parser.dropped;
    this.parser = replyParser();
  }

  get buffered(): number {
    return this.parser.buffered;
  }

  get discarded(): number {
    return this.base + this.parser.dropped;
  }
}

const DISPLAY_NORMAL = 0;
const DISPLAY_BLACK = 2;

export class NovastarDriver implements DeviceDriver {
  readonly capabilities = ['brightness', 'blank'] as const;
  private readonly link: FramedLink<NovaFrame>;
  private readonly timeoutMs: number;
  private serial = 0;

  constructor(
    private readonly ctx: DriverContext<NovastarConfig>,
    tuning: NovastarTuning = {},
  ) {
    this.timeoutMs = tuning.timeoutMs ?? 2000;
    const transport =
      tuning.transport ??
      new TcpTransport({ host: ctx.config.host, port: ctx.config.port, connectTimeoutMs: tuning.connectTimeoutMs ?? 5000 });
    this.link = new FramedLink<NovaFrame>({ transport, framer: () => new NovaReplyFramer(), log: ctx.log, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  }

  async open(): Promise<DeviceReading> {
    await this.link.open();
    const model = await this.read({ devType: DEV_SENDING_CARD, addr: REG.modelId, length: 2 });
    const reading: DeviceReading = { manufacturer: 'NovaStar' };
    if (model.ok) {
      const id = model.data.readUInt16LE(0);
      // No public table maps ids to product names; the raw id still tells two controllers apart.
      reading.model = `NovaStar 0x${id.toString(16).padStart(4, '0')}`;
    }
    const fw = await this.read({ devType: DEV_SENDING_CARD, addr: REG.firmware, length: 4 });
    // Firmware is four version bytes (major … build), as the NovaLCT tools show it.
    if (fw.ok) reading.firmware = [...fw.data].join('.');
    return { ...reading, ...(await this.poll()) };
  }

  async poll(): Promise<DeviceReading> {
    const errors: DeviceFault[] = [];
    const reading: DeviceReading = { errors };
    const bright = await this.read({ devType: DEV_RECEIVING_CARD, addr: REG.brightness, length: 1 });
    if (bright.ok) {
      reading.power = 'on';
      reading.brightness = brightnessToPercent(bright.data[0]!);
    } else if (bright.ack === 1) {
      reading.power = 'off';
      reading.brightness = null;
    } else {
      throw this.ackError(bright.ack, 'brightness read');
    }
    const mode = await this.read({ devType: DEV_SENDING_CARD, addr: REG.displayMode, length: 1 });
    if (!mode.ok) throw this.ackError(mode.ack, 'display mode read');
    reading.blank = mode.data[0] === DISPLAY_BLACK;
    const dvi = await this.read({ devType: DEV_SENDING_CARD, addr: REG.dviStatus, length: 1 });
    if (dvi.ok && dvi.data[0] === 0) {
      errors.push({ code: 'no_input_signal', severity: 'warning', text: 'the LED controller sees no DVI/HDMI input' });
    }
    return reading;
  }

  async execute(command: DeviceCommand): Promise<DeviceReading> {
    switch (command.action) {
      case 'brightness': {
        const v = command.value;
        if (!Number.isFinite(v) || v < 0 || v > 100) throw new AgentError(ErrorCodes.invalid_args, `brightness ${v} outside 0..100`);
        // Broadcast to every receiving card, as NovaLCT and the Companion module do.
        await this.write({ devType: DEV_RECEIVING_CARD, dst: 0xff, port: 0xff, board: 0xffff, addr: REG.brightness, data: Uint8Array.of(percentToBrightness(v)) });
        break;
      }
      case 'blank':
        await this.write({ devType: DEV_SENDING_CARD, addr: REG.displayMode, data: Uint8Array.of(command.value ? DISPLAY_BLACK : DISPLAY_NORMAL) });
        break;
      default:
        throw new AgentError(ErrorCodes.unsupported, `novastar cannot ${command.action} (mains power goes through a relay driver)`);
    }
    return this.poll();
  }

  async close(): Promise<void> {
    await this.link.close();
  }

  onDisconnect(listener: (reason: Error) => void): void {
    this.link.onDisconnect(listener);
  }

  private ackError(ack: number, what: string): AgentError {
    return new AgentError(ErrorCodes.device_error, `NovaStar ${what}: ack ${ack} (${ACK_TEXT[ack] ?? 'unknown'})`, { retryable: ack === 1 || ack === 2 || ack === 3 });
  }

  private async write(req: Omit<NovaRequest, 'serial'>): Promise<void> {
    const r = await this.request(req);
    if (r.ack !== 0) throw this.ackError(r.ack, `write 0x${req.addr.toString(16)}`);
  }

  private async read(req: Omit<NovaRequest, 'serial' | 'data'> & { length: number }): Promise<{ ok: true; data: Buffer } | { ok: false; ack: number }> {
    const r = await this.request(req);
    if (r.ack !== 0) return { ok: false, ack: r.ack };
    if (r.data.length !== req.length) throw new AgentError(ErrorCodes.protocol, `NovaStar read 0x${req.addr.toString(16)}: ${r.data.length} bytes, expected ${req.length}`, { retryable: true });
    return { ok: true, data: r.data };
  }

  private request(req: Omit<NovaRequest, 'serial'>): Promise<NovaFrame> {
    this.serial = (this.serial + 1) & 0xff;
    const serial = this.serial;
    return this.link.request({
      data: encodeRequest({ ...req, serial }),
      timeoutMs: this.timeoutMs,
      label: `novastar ${req.data ? 'write' : 'read'} 0x${req.addr.toString(16)}`,
      match: (f) => (f.serial === serial && f.addr === req.addr >>> 0 && f.code === (req.data ? 1 : 0) ? f : undefined),
    });
  }
}

export const novastarDriver: DriverDefinition<NovastarConfig> = {
  name: 'novastar',
  kinds: ['led_display'],
  create: (ctx) => new NovastarDriver(ctx),
};
