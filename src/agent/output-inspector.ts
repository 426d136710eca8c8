import type { OutputInspector } from '../core/canary.js';
import type { ProducedArtifact } from '../core/models.js';
import type { ContentStore } from './content-store.js';
import { readProjectOutputs } from './project-task.js';
import { listTarGzFiles } from './tar-archive.js';

/**
 * Lists the files of artifacts in this node's CAS (a publish archive's entries, or the file itself)
 * and of project output trees.
 */
export class CasOutputInspector implements OutputInspector {
  constructor(private readonly store: ContentStore) {}

  async listFiles(artifact: ProducedArtifact): Promise<{ path: string; sha256: string }[]> {
    if (artifact.contentType === 'application/gzip' && artifact.name.endsWith('.tar.gz'))
      return listTarGzFiles(this.store.openRead(artifact.sha256Hash));
    return [{ path: artifact.name, sha256: artifact.sha256Hash }];
  }

  async listOutputTree(treeSha256: string): Promise<{ path: string; sha256: string }[]> {
    const tree = await readProjectOutputs(this.store, treeSha256);
    return tree.entries.flatMap((entry) =>
      entry.kind === 'file' ? [{ path: entry.path, sha256: entry.sha256 }] : [],
    );
  }
}
