/**
 * Wire shapes of the MediaMTX v3 API, hand-written from components.schemas of
 * docs/reference/mediamtx-openapi.yaml. Everything is optional: servers from v1.2 to v1.20 emit
 * different subsets (docs/reference/mediamtx-notes.md §6). camelCase because that is MediaMTX's wire format.
 */

export interface RawList<T> {
  itemCount?: number;
  pageCount?: number;
  items?: T[];
}

/** components.schemas.Path (v1.20.1) plus the deprecated fields older servers send alone. */
export interface RawPath {
  name?: string;
  confName?: string;
  source?: { type?: string; id?: string } | null;
  /** v1.16+ */
  available?: boolean;
  availableTime?: string | null;
  online?: boolean;
  onlineTime?: string | null;
  /** deprecated since v1.16 (= available) */
  ready?: boolean;
  readyTime?: string | null;
  /** v1.17+ */
  inboundBytes?: number;
  outboundBytes?: number;
  inboundFramesInError?: number;
  /** deprecated since v1.17 */
  bytesReceived?: number;
  bytesSent?: number;
  tracks?: string[];
  tracks2?: Array<{ codec?: string; codecProps?: Record<string, unknown> | null }>;
  readers?: Array<{ type?: string; id?: string }>;
}

/** components.schemas.PathConf as returned by the server (read only: never send it back). */
export type RawPathConf = Record<string, unknown> & { name?: string; source?: string };

/**
 * The path keys this agent may write (a subset of components.schemas.PathConf, all present since
 * v1.2 unless noted). Send only what you mean to change: an unknown key is a 400 on an older server.
 */
export interface PathConfPatch {
  source?: string;
  sourceOnDemand?: boolean;
  sourceOnDemandStartTimeout?: string;
  sourceOnDemandCloseAfter?: string;
  sourceFingerprint?: string;
  maxReaders?: number;
  overridePublisher?: boolean;
  record?: boolean;
  recordPath?: string;
  recordFormat?: 'fmp4' | 'mpegts';
  recordSegmentDuration?: string;
  recordDeleteAfter?: string;
  rtspTransport?: 'udp' | 'multicast' | 'tcp' | 'automatic';
  runOnInit?: string;
  runOnDemand?: string;
  /**
   * Hooks by their current names (v1.19.3+, PR #5957). The deprecated runOnReady/runOnNotReady/
   * runOnReadyRestart are not offered: the client writes those older names itself when the server
   * predates v1.19.3 (runOnOnline/runOnOffline have no older equivalent).
   */
  runOnAvailable?: string;
  runOnAvailableRestart?: boolean;
  runOnUnavailable?: string;
  runOnOnline?: string;
  runOnOnlineRestart?: boolean;
  runOnOffline?: string;
}
