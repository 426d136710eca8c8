import Router from '@koa/router';
import type { ArtifactContent, BuildService } from '../../core/ports.js';

export function artifactRoutes(builds: BuildService, content: ArtifactContent): Router {
  const router = new Router({ prefix: '/api/v1/artifacts' });

  // Streams the stored bytes after re-hashing them: a corrupted object is never served.
  router.get('/:artifactId/download', async (ctx) => {
    const { artifact } = builds.findArtifact(ctx.params.artifactId ?? '');
    const stream = await content.openVerified(artifact.sha256Hash, artifact.artifactId);
    ctx.type = artifact.contentType;
    ctx.length = artifact.sizeBytes;
    ctx.attachment(artifact.name);
    ctx.set('X-Checksum-Sha256', artifact.sha256Hash);
    ctx.set('Digest', `sha-256=${Buffer.from(artifact.sha256Hash, 'hex').toString('base64')}`);
    ctx.body = stream;
  });

  return router;
}
