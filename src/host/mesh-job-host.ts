import type { ContentStore } from '../agent/content-store.js';
import type { LocalBuildExecutor } from '../agent/local-build-executor.js';
import { readManifest, syncSources } from '../agent/source-snapshot.js';
import { manifestBlobs } from '../core/source-manifest.js';
import type { Acceptance } from '../core/donation.js';
import type { JobOffer } from '../core/job-messages.js';
import type { Logger } from '../core/ports.js';
import type { BlobService } from '../mesh/blob-protocol.js';
import type { JobDecision, JobHost } from '../mesh/job-protocol.js';
import { runHandBackable, type AgentSlots } from './agent-slots.js';
import type { ProjectTaskHost } from './project-task-host.js';

const PARALLEL_BLOB_FETCHES = 8;

export interface MeshJobHostOptions {
  slots: AgentSlots;
  /** Whether this machine takes work from peers now (donation mode, idle time, Maintenance). */
  availability: () => Acceptance;
  executor: LocalBuildExecutor;
  blobs: Pick<BlobService, 'fetchBlob'>;
  contentStore: ContentStore;
  logger: Logger;
  /** Runs project tasks (Distributed and Cached builds). */
  tasks: ProjectTaskHost;
}

/**
 * How this machine answers job offers from peers: it rejects them (with the reason) while it does
 * not donate (Maintenance, Paused, its owner is at a WhenIdle machine) or has no free slot;
 * otherwise it fetches the sources from the offering peer's CAS (each file it lacks, once) and
 * runs the build in its own workspace. Accepted work can be handed back while it runs.
 */
export class MeshJobHost implements JobHost {
  constructor(private readonly options: MeshJobHostOptions) {}

  consider(offer: JobOffer, fromPeerId: string): JobDecision {
    if (offer.task) {
      const { task } = offer;
      return this.options.tasks.consider(
        { request: offer.request, task, manifestSha256: offer.source.manifestSha256 },
        async (sha256s, signal) => {
          await this.fetchMissing(fromPeerId, sha256s, signal, offer.traceparent);
        },
        'peer',
      );
    }
    const available = this.options.availability();
    if (!available.accepting) return { accept: false, reason: available.reason };
    const lease = this.options.slots.tryAcquireForPeer(offer.request.job.projectName);
    if (!lease)
      return { accept: false, reason: `no free build slot (${this.options.slots.capacity} in use)` };
    return {
      accept: true,
      run: ({ signal, listener }) =>
        runHandBackable(lease, signal, (leased) =>
          this.options.executor.execute(offer.request, {
            signal: leased,
            listener,
            fetchSources: (directory, fetchSignal) =>
              this.fetchSources(fromPeerId, offer, directory, fetchSignal),
          }),
        ),
    };
  }

  private async fetchSources(peerId: string, offer: JobOffer, directory: string, signal: AbortSignal) {
    const { contentStore, blobs } = this.options;
    await blobs.fetchBlob(peerId, offer.source.manifestSha256, { signal, traceparent: offer.traceparent });
    const manifest = await readManifest(contentStore, offer.source.manifestSha256);
    const needed = manifestBlobs(manifest);
    const missing = await this.fetchMissing(peerId, needed, signal, offer.traceparent);
    // Into a fresh workspace, or over a persistent one (Incremental): unchanged files keep their
    // timestamps, files gone from the commit are deleted, bin/ and obj/ stay.
    const synced = await syncSources(manifest, contentStore, directory);
    return {
      commit: manifest.commit,
      message:
        `Fetched the sources of commit ${manifest.commit} from ${peerId}: ${manifest.entries.length} file(s), ` +
        `${missing} of ${needed.length} distinct object(s) transferred, ${synced.written} file(s) written, ` +
        `${synced.deleted} deleted`,
    };
  }

  /** Fetches the blobs the local CAS lacks from `peerId`, a few at a time; returns how many it fetched. */
  private async fetchMissing(
    peerId: string,
    sha256s: readonly string[],
    signal: AbortSignal,
    /** The offer's trace context, passed on to the peer serving the blobs. */
    traceparent: string | undefined,
  ): Promise<number> {
    const { contentStore, blobs } = this.options;
    const missing: string[] = [];
    for (const sha256 of new Set(sha256s)) if (!(await contentStore.has(sha256))) missing.push(sha256);
    let next = 0;
    const worker = async () => {
      while (next < missing.length) {
        const sha256 = missing[next++] as string;
        await blobs.fetchBlob(peerId, sha256, { signal, traceparent });
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_BLOB_FETCHES, missing.length) }, worker));
    return missing.length;
  }
}
