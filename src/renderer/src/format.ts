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
