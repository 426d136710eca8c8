import type { BuildStatus, BuildStrategy } from '../../core/models.js';

/** The builds list's filter: a status group, a strategy, and free text. */
export interface BuildFilter {
  status: 'all' | 'active' | 'succeeded' | 'failed' | 'cancelled';
  strategy: 'all' | BuildStrategy;
  /** Matched against project, requester, id and the error message, ignoring case. */
  text: string;
}

export const EMPTY_FILTER: BuildFilter = { status: 'all', strategy: 'all', text: '' };

const STATUS_GROUPS: Record<Exclude<BuildFilter['status'], 'all'>, readonly BuildStatus[]> = {
  active: ['Queued', 'Running', 'Cancelling'],
  succeeded: ['Succeeded'],
  failed: ['Failed', 'TimedOut'],
  cancelled: ['Cancelled'],
};

interface Filterable {
  executionId: string;
  projectName: string;
  strategy: BuildStrategy;
  status: BuildStatus;
  requesterEmail: string | null;
  errorMessage: string | null;
}

export function matchesFilter(build: Filterable, filter: BuildFilter): boolean {
  if (filter.status !== 'all' && !STATUS_GROUPS[filter.status].includes(build.status)) return false;
  if (filter.strategy !== 'all' && build.strategy !== filter.strategy) return false;
  const needle = filter.text.trim().toLowerCase();
  if (needle === '') return true;
  return [build.projectName, build.requesterEmail, build.executionId, build.errorMessage].some((value) =>
    value?.toLowerCase().includes(needle),
  );
}

export function filterBuilds<T extends Filterable>(builds: readonly T[], filter: BuildFilter): T[] {
  return builds.filter((build) => matchesFilter(build, filter));
}

export function isFiltering(filter: BuildFilter): boolean {
  return filter.status !== 'all' || filter.strategy !== 'all' || filter.text.trim() !== '';
}
