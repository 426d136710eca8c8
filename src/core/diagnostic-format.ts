import type { Diagnostic } from './models.js';

/** `src/A/Class1.cs(3,20): error CS1002: ; expected`, as MSBuild would print it. */
export function describeDiagnostic(diagnostic: Diagnostic): string {
  const position =
    diagnostic.line !== null
      ? `(${diagnostic.line}${diagnostic.column !== null ? `,${diagnostic.column}` : ''})`
      : '';
  const where = diagnostic.file ? `${diagnostic.file}${position}: ` : '';
  return `${where}${diagnostic.severity} ${diagnostic.code}: ${diagnostic.message}`;
}
