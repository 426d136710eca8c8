export const REDACTED = '***REDACTED***';

/**
 * Replaces configured secrets in text. Build output is split into whole lines before it is
 * masked, so a secret split across two chunks of a process's output is still caught.
 */
export class SecretMasker {
  private readonly secrets: string[];

  constructor(secrets: Iterable<string>) {
    // Longest first, so a secret that contains another is replaced whole.
    this.secrets = [...new Set(secrets)]
      .filter((secret) => secret.length > 0)
      .sort((a, b) => b.length - a.length);
  }

  mask(text: string): string {
    let masked = text;
    for (const secret of this.secrets) {
      if (masked.includes(secret)) masked = masked.split(secret).join(REDACTED);
    }
    return masked;
  }

  withSecrets(more: Iterable<string>): SecretMasker {
    return new SecretMasker([...this.secrets, ...more]);
  }
}
