import type { OutputInspector } from '../core/canary.js';
import type { ProducedArtifact } from '../core/models.js';
import type { ContentStore } from './content-store.js';
import { listTarGzFiles } from './tar-archive.js';

/** Lists the files of artifacts in this node's CAS: a publish archive's entries, or the file itself. */
export class CasOutputInspector implements OutputInspector {
  constructor(private readonly store: ContentStore) {}

  async listFiles(artifact: ProducedArtifact): Promise<{ path: string; sha256: string }[]> {
    if (artifact.contentType === 'application/gzip' && artifact.name.endsWith('.tar.gz'))
      return listTarGzFiles(this.store.openRead(artifact.sha256Hash));
    return [{ path: artifact.name, sha256: artifact.sha256Hash }];
  }
}
