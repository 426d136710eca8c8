import type { AgentCapabilities } from '../../core/capabilities.js';

const ISO_DURATION = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$/;

/** `PT1M30.5S` → 90500; `null` for anything that is not the API's duration format. */
export function parseIsoDuration(text: string): number | null {
  const match = ISO_DURATION.exec(text);
  if (!match || text === 'PT') return null;
  const [, hours = '0', minutes = '0', seconds = '0'] = match;
  return Number(hours) * 3_600_000 + Number(minutes) * 60_000 + Math.round(Number(seconds) * 1000);
}

/** An API duration for people: `4.2 s`, `42 s`, `3 min 5 s`, `1 h 2 min`; `—` when there is none. */
export function formatDuration(iso: string | null): string {
  const ms = iso === null ? null : parseIsoDuration(iso);
  if (ms === null) return '—';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalSeconds = Math.floor(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours} h ${minutes} min`;
  if (minutes > 0) return `${minutes} min ${seconds} s`;
  return `${seconds} s`;
}

/** A 0–100 usage figure as the API reports it → `42 %`. */
export function formatPercent(value: number): string {
  return Number.isFinite(value) ? `${Math.round(value)} %` : '—';
}

const OS_LABELS: Record<AgentCapabilities['os'], string> = {
  linux: 'Linux',
  windows: 'Windows',
  macos: 'macOS',
  other: 'Other',
};

/** `linux`, `x64` → `Linux x64`. */
export function formatOs(os: AgentCapabilities['os'], arch: string): string {
  return arch ? `${OS_LABELS[os]} ${arch}` : OS_LABELS[os];
}

/** Wall-clock time of an epoch-ms instant, for "updated at" lines. */
export function formatClockTime(epochMs: number, locale?: string): string {
  return new Date(epochMs).toLocaleTimeString(locale, {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

/** `1536` → `1.5 KB`; binary multiples, as file managers show them. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** Milliseconds for people: `850 ms`, `4.2 s`, `3 min 5 s`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalSeconds = Math.round(ms / 1000);
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = totalSeconds % 60;
  if (minutes >= 60) return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  return minutes > 0 ? `${minutes} min ${seconds} s` : `${seconds} s`;
}

/** A 0–1 ratio → `75 %`; `—` when there is none. */
export function formatRatio(ratio: number | null): string {
  return ratio === null || !Number.isFinite(ratio) ? '—' : `${Math.round(ratio * 100)} %`;
}

/** The first 12 hex digits of a hash or commit, as git shows them. */
export function shortHash(hash: string | null): string {
  return hash ? hash.slice(0, 12) : '—';
}
