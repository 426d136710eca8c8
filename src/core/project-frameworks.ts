/**
 * Target frameworks named in MSBuild project text (`<TargetFramework>` / `<TargetFrameworks>`).
 * A quick scan for scheduling (which peers have an SDK for them); the build itself uses MSBuild.
 * Values built from properties (`$(...)`) are ignored.
 */
export function frameworksInProjectText(text: string): string[] {
  const frameworks = new Set<string>();
  for (const match of text.matchAll(/<TargetFrameworks?\b[^>]*>([^<]*)<\/TargetFrameworks?>/g)) {
    for (const value of (match[1] ?? '').split(';')) {
      const framework = value.trim();
      if (/^net[a-z]*\d+(\.\d+)?(-[A-Za-z0-9.]+)?$/.test(framework))
        frameworks.add(framework.replace(/-.*$/, ''));
    }
  }
  return [...frameworks].sort();
}
