import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { BUILD_STRATEGIES, isTerminalStatus } from '../../core/models.js';
import type { ApiClient, BuildSummary } from './api-client.js';
import { POLL_INTERVAL_MS } from './App.js';
import { EMPTY_FILTER, filterBuilds, isFiltering, type BuildFilter } from './build-filters.js';
import { BuildsTable, type HitRates } from './BuildsTable.js';
import type { LiveEventHub } from './node-events.js';
import { PolledSection } from './PolledSection.js';
import { routeHref } from './route.js';
import { cacheHitRate } from './timeline-layout.js';
import { useRefreshOn } from './use-live.js';
import { usePolling } from './use-polling.js';

/** How many of the newest builds the list holds (the API's largest page). */
export const BUILDS_SHOWN = 100;

const TASK_STRATEGIES = new Set(['Cached', 'Distributed']);

/**
 * Cache hit rates of the listed task builds, read from each build's timeline: finished builds once,
 * running ones again whenever the list refreshes.
 */
function useHitRates(client: ApiClient, builds: readonly BuildSummary[] | null): HitRates {
  const [rates, setRates] = useState<Map<string, number | null>>(new Map());
  const known = useRef(new Map<string, number | null>());
  useEffect(() => {
    if (!builds) return;
    const controller = new AbortController();
    const wanted = builds.filter(
      (build) =>
        TASK_STRATEGIES.has(build.strategy) &&
        build.status !== 'Queued' &&
        (!known.current.has(build.executionId) || !isTerminalStatus(build.status)),
    );
    void (async () => {
      for (const build of wanted) {
        try {
          const detail = await client.getBuild(build.executionId, { signal: controller.signal });
          known.current.set(build.executionId, cacheHitRate(detail.timeline));
        } catch {
          if (controller.signal.aborted) return;
        }
      }
      if (!controller.signal.aborted && wanted.length > 0) setRates(new Map(known.current));
    })();
    return () => controller.abort();
  }, [client, builds]);
  return rates;
}

/** The Builds screen: the newest builds, filterable; status changes arrive live. */
export function BuildsView({ client, hub }: { client: ApiClient; hub: LiveEventHub }) {
  const load = useCallback(
    (signal: AbortSignal) => client.listBuilds({ pageSize: BUILDS_SHOWN, signal }),
    [client],
  );
  const builds = usePolling(load, POLL_INTERVAL_MS);
  useRefreshOn(hub, (event) => event.type === 'status', builds.refresh);
  const [filter, setFilter] = useState<BuildFilter>(EMPTY_FILTER);
  const hitRates = useHitRates(client, builds.data?.builds ?? null);
  const ids = { status: useId(), strategy: useId(), text: useId() };

  return (
    <PolledSection
      id="builds"
      title="Builds"
      polled={builds}
      isEmpty={(page) => page.builds.length === 0}
      summary={(page) =>
        page.totalCount > page.builds.length
          ? `Newest ${page.builds.length} of ${page.totalCount}`
          : `${page.totalCount} ${page.totalCount === 1 ? 'build' : 'builds'}`
      }
      empty={
        <>
          <p className="state-title">No builds yet.</p>
          <p>
            <a href={routeHref({ name: 'new-build', from: null })}>Start a build</a>, or from a terminal:{' '}
            <code>buildmesh build &lt;repository-url&gt; --ref main --solution App.sln</code>
          </p>
        </>
      }
    >
      {(page) => {
        const shown = filterBuilds(page.builds, filter);
        return (
          <>
            <form
              className="filters"
              role="search"
              aria-label="Filter builds"
              onSubmit={(e) => e.preventDefault()}
            >
              <div className="field inline">
                <label htmlFor={ids.status}>Status</label>
                <select
                  id={ids.status}
                  value={filter.status}
                  onChange={(event) =>
                    setFilter({ ...filter, status: event.target.value as BuildFilter['status'] })
                  }
                >
                  <option value="all">Any status</option>
                  <option value="active">Queued or running</option>
                  <option value="succeeded">Succeeded</option>
                  <option value="failed">Failed or timed out</option>
                  <option value="cancelled">Cancelled</option>
                </select>
              </div>
              <div className="field inline">
                <label htmlFor={ids.strategy}>Strategy</label>
                <select
                  id={ids.strategy}
                  value={filter.strategy}
                  onChange={(event) =>
                    setFilter({ ...filter, strategy: event.target.value as BuildFilter['strategy'] })
                  }
                >
                  <option value="all">Any strategy</option>
                  {BUILD_STRATEGIES.map((strategy) => (
                    <option key={strategy} value={strategy}>
                      {strategy}
                    </option>
                  ))}
                </select>
              </div>
              <div className="field inline grow">
                <label htmlFor={ids.text}>Search</label>
                <input
                  id={ids.text}
                  type="search"
                  placeholder="Project, requester, id or error"
                  value={filter.text}
                  onChange={(event) => setFilter({ ...filter, text: event.target.value })}
                />
              </div>
              {isFiltering(filter) ? (
                <button type="button" onClick={() => setFilter(EMPTY_FILTER)}>
                  Clear filter
                </button>
              ) : null}
            </form>
            {shown.length === 0 ? (
              <div className="state state-empty" role="status">
                <p className="state-title">No build matches this filter.</p>
                <p>{page.builds.length} builds are listed; clear the filter to see them all.</p>
              </div>
            ) : (
              <BuildsTable builds={shown} labelledBy="builds-heading" hitRates={hitRates} />
            )}
          </>
        );
      }}
    </PolledSection>
  );
}
