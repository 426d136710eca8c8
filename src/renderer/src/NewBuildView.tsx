import {
  cloneElement,
  useEffect,
  useRef,
  useState,
  type FormEvent,
  type ReactElement,
  type ReactNode,
} from 'react';
import { BUILD_STRATEGIES, TARGET_POOLS } from '../../core/models.js';
import { ApiRequestError, type ApiClient, type SolutionList } from './api-client.js';
import {
  buildRequestBody,
  DEFAULT_FORM,
  verifyHint,
  fieldErrors,
  firstInvalidField,
  formValuesFromBuild,
  hasMaskedCredentials,
  type BuildFormValues,
  type FormField,
} from './build-form.js';
import { shortHash } from './format.js';
import type { Route } from './route.js';

type Lookup =
  | { state: 'idle' }
  | { state: 'loading'; key: string }
  | { state: 'done'; key: string; result: SolutionList }
  | { state: 'failed'; key: string; message: string };

const STRATEGY_HINTS: Record<string, string> = {
  Incremental: 'One peer, keeping its workspace between builds',
  Clean: 'One peer, from a fresh clone',
  Cached: 'Project tasks, reusing outputs from the mesh cache',
  Distributed: 'Project tasks spread over the peers',
  Canary: 'A gated build on one peer, then every other peer',
};

/** The New build screen: what to build and how; the API's validation shows next to each field. */
export function NewBuildView({
  client,
  from,
  navigate,
}: {
  client: ApiClient;
  /** A build to repeat: the form starts with its values. */
  from: string | null;
  navigate: (route: Route) => void;
}) {
  const [values, setValues] = useState<BuildFormValues>(DEFAULT_FORM);
  const [errors, setErrors] = useState<Partial<Record<FormField, string[]>>>({});
  const [otherErrors, setOtherErrors] = useState<string[]>([]);
  const [submitting, setSubmitting] = useState(false);
  const [lookup, setLookup] = useState<Lookup>({ state: 'idle' });
  const [prefill, setPrefill] = useState<string | null>(null);
  const lookupAbort = useRef<AbortController | null>(null);
  const formRef = useRef<HTMLFormElement>(null);

  useEffect(() => {
    if (!from) return;
    const controller = new AbortController();
    client
      .getBuild(from, { signal: controller.signal })
      .then((build) => {
        const repeated = formValuesFromBuild(build);
        if (hasMaskedCredentials(repeated.repositoryUrl)) repeated.repositoryUrl = '';
        setValues(repeated);
        setPrefill(`Filled in from build ${from.slice(0, 8)} (${build.projectName}).`);
      })
      .catch((error: unknown) => {
        if (!controller.signal.aborted)
          setPrefill(`Could not read build ${from.slice(0, 8)}: ${(error as Error).message}`);
      });
    return () => controller.abort();
  }, [client, from]);

  useEffect(() => () => lookupAbort.current?.abort(), []);

  const set = <K extends keyof BuildFormValues>(key: K, value: BuildFormValues[K]) => {
    setValues((current) => ({ ...current, [key]: value }));
    if (errors[key]) setErrors((current) => ({ ...current, [key]: undefined }));
  };

  const findSolutions = (force = false) => {
    const repositoryUrl = values.repositoryUrl.trim();
    const gitRef = values.gitRef.trim();
    if (repositoryUrl === '' || gitRef === '') return;
    const key = `${repositoryUrl}\n${gitRef}`;
    if (!force && lookup.state !== 'idle' && lookup.key === key) return;
    lookupAbort.current?.abort();
    const controller = new AbortController();
    lookupAbort.current = controller;
    setLookup({ state: 'loading', key });
    client
      .listSolutions(repositoryUrl, gitRef, { signal: controller.signal })
      .then((result) => {
        setLookup({ state: 'done', key, result });
        setValues((current) =>
          current.solutionPath === '' && result.solutions[0]
            ? { ...current, solutionPath: result.solutions[0] }
            : current,
        );
      })
      .catch((error: unknown) => {
        if (controller.signal.aborted) return;
        if (error instanceof ApiRequestError && error.status === 400) {
          const { byField, other } = fieldErrors(error.details);
          setErrors((current) => ({ ...current, ...byField }));
          setLookup({ state: 'failed', key, message: other[0] ?? 'Fix the repository URL or ref above.' });
          return;
        }
        setLookup({ state: 'failed', key, message: (error as Error).message });
      });
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitting(true);
    setOtherErrors([]);
    try {
      const { executionId } = await client.submitBuild(buildRequestBody(values));
      navigate({ name: 'build', executionId });
    } catch (error) {
      if (error instanceof ApiRequestError && error.status === 400) {
        const { byField, other } = fieldErrors(error.details);
        setErrors(byField);
        setOtherErrors(other.length > 0 || Object.keys(byField).length > 0 ? other : [error.message]);
        const first = firstInvalidField(byField);
        if (first) formRef.current?.querySelector<HTMLElement>(`#field-${first}`)?.focus();
      } else {
        setErrors({});
        setOtherErrors([(error as Error).message]);
      }
    } finally {
      setSubmitting(false);
    }
  };

  const solutions = lookup.state === 'done' ? lookup.result.solutions : [];
  return (
    <section className="panel" aria-labelledby="new-build-heading">
      <div className="panel-header">
        <h2 id="new-build-heading">New build</h2>
        {prefill ? <p className="panel-summary">{prefill}</p> : null}
      </div>
      <form ref={formRef} className="build-form" onSubmit={(event) => void submit(event)} noValidate>
        {otherErrors.length > 0 ? (
          <div className="form-errors" role="alert">
            <p className="state-title">The node did not start the build.</p>
            <ul>
              {otherErrors.map((message) => (
                <li key={message}>{message}</li>
              ))}
            </ul>
          </div>
        ) : null}
        <Field
          name="repositoryUrl"
          label="Repository URL"
          errors={errors.repositoryUrl}
          hint="A git URL: https://, ssh://, git://, file:// or user@host:path"
        >
          <input
            type="text"
            inputMode="url"
            autoComplete="off"
            spellCheck={false}
            placeholder="https://github.com/contoso/app.git"
            value={values.repositoryUrl}
            onChange={(event) => set('repositoryUrl', event.target.value)}
            onBlur={() => findSolutions()}
          />
        </Field>
        <Field name="gitRef" label="Ref" errors={errors.gitRef} hint="Branch, tag or commit SHA">
          <input
            type="text"
            autoComplete="off"
            spellCheck={false}
            value={values.gitRef}
            onChange={(event) => set('gitRef', event.target.value)}
            onBlur={() => findSolutions()}
          />
        </Field>
        <Field
          name="solutionPath"
          label="Solution"
          errors={errors.solutionPath}
          hint="A .sln, .slnx or project file, relative to the repository root"
          extra={
            <SolutionLookup
              lookup={lookup}
              onFind={() => findSolutions(true)}
              canFind={values.repositoryUrl.trim() !== '' && values.gitRef.trim() !== ''}
            />
          }
        >
          <input
            type="text"
            autoComplete="off"
            spellCheck={false}
            list="solution-options"
            placeholder="App.sln"
            value={values.solutionPath}
            onChange={(event) => set('solutionPath', event.target.value)}
          />
        </Field>
        <datalist id="solution-options">
          {solutions.map((path) => (
            <option key={path} value={path} />
          ))}
        </datalist>
        {solutions.length > 1 ? (
          <fieldset className="solution-choices">
            <legend>Solutions at {shortHash(lookup.state === 'done' ? lookup.result.commit : null)}</legend>
            {solutions.map((path) => (
              <label key={path} className="check">
                <input
                  type="radio"
                  name="solution-choice"
                  value={path}
                  checked={values.solutionPath === path}
                  onChange={() => set('solutionPath', path)}
                />
                <span className="mono">{path}</span>
              </label>
            ))}
          </fieldset>
        ) : null}
        <div className="field-row">
          <Field name="configuration" label="Configuration" errors={errors.configuration}>
            <input
              type="text"
              list="configuration-options"
              value={values.configuration}
              onChange={(event) => set('configuration', event.target.value)}
            />
          </Field>
          <datalist id="configuration-options">
            <option value="Release" />
            <option value="Debug" />
          </datalist>
          <Field
            name="strategy"
            label="Strategy"
            errors={errors.strategy}
            hint={STRATEGY_HINTS[values.strategy]}
          >
            <select
              value={values.strategy}
              onChange={(event) => set('strategy', event.target.value as BuildFormValues['strategy'])}
            >
              {BUILD_STRATEGIES.map((strategy) => (
                <option key={strategy} value={strategy}>
                  {strategy}
                </option>
              ))}
            </select>
          </Field>
          <Field name="targetPool" label="Target pool" errors={errors.targetPool}>
            <select
              value={values.targetPool}
              onChange={(event) => set('targetPool', event.target.value as BuildFormValues['targetPool'])}
            >
              {TARGET_POOLS.map((pool) => (
                <option key={pool} value={pool}>
                  {pool}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <fieldset className="toggles">
          <legend>Also</legend>
          <Toggle
            name="runTests"
            label="Run tests"
            checked={values.runTests}
            errors={errors.runTests}
            onChange={(v) => set('runTests', v)}
          />
          <Toggle
            name="createPackages"
            label="Pack NuGet packages"
            checked={values.createPackages}
            errors={errors.createPackages}
            onChange={(v) => set('createPackages', v)}
          />
          <Toggle
            name="verify"
            label="Verify: build again on a second peer and compare outputs"
            hint={verifyHint(values.strategy)}
            checked={values.verify}
            errors={errors.verify}
            onChange={(v) => set('verify', v)}
          />
        </fieldset>
        <div className="form-actions">
          <button type="submit" className="primary" disabled={submitting}>
            {submitting ? 'Starting…' : 'Start build'}
          </button>
        </div>
      </form>
    </section>
  );
}

function SolutionLookup({
  lookup,
  onFind,
  canFind,
}: {
  lookup: Lookup;
  onFind: () => void;
  canFind: boolean;
}) {
  let status: ReactNode = canFind ? 'Solutions are offered once the repository and ref are filled in.' : null;
  switch (lookup.state) {
    case 'idle':
      break;
    case 'loading':
      status = (
        <>
          <span className="spinner" aria-hidden="true" /> Resolving the ref and looking for solutions…
        </>
      );
      break;
    case 'done': {
      const count = lookup.result.solutions.length;
      status =
        count === 0
          ? `Resolved to ${shortHash(lookup.result.commit)}, which has no .sln, .slnx or project file.`
          : `Resolved ${lookup.result.resolvedRef} to ${shortHash(lookup.result.commit)}: ${count} ${count === 1 ? 'solution or project' : 'solutions and projects'} found.`;
      break;
    }
    case 'failed':
      status = <span className="error-text">Could not list solutions: {lookup.message}</span>;
      break;
  }
  return (
    <div className="lookup">
      <p className="lookup-status" role="status" aria-live="polite">
        {status}
      </p>
      <button type="button" onClick={onFind} disabled={!canFind || lookup.state === 'loading'}>
        Find solutions
      </button>
    </div>
  );
}

function Field({
  name,
  label,
  errors,
  hint,
  extra,
  children,
}: {
  name: FormField;
  label: string;
  errors: string[] | undefined;
  hint?: string;
  extra?: ReactNode;
  children: ReactElement<Record<string, unknown>>;
}) {
  const id = `field-${name}`;
  const describedBy = [hint ? `${id}-hint` : null, errors?.length ? `${id}-error` : null]
    .filter(Boolean)
    .join(' ');
  const control = cloneElement(children, {
    id,
    name,
    'aria-invalid': errors?.length ? true : undefined,
    'aria-describedby': describedBy || undefined,
  });
  return (
    <div className={`field${errors?.length ? ' invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {control}
      {hint ? (
        <p className="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {errors?.length ? (
        <p className="field-error" id={`${id}-error`}>
          {errors.join('; ')}
        </p>
      ) : null}
      {extra}
    </div>
  );
}

function Toggle({
  name,
  label,
  hint,
  checked,
  errors,
  onChange,
}: {
  name: FormField;
  label: string;
  hint?: string;
  checked: boolean;
  errors: string[] | undefined;
  onChange: (value: boolean) => void;
}) {
  const id = `field-${name}`;
  const describedBy = [hint ? `${id}-hint` : null, errors?.length ? `${id}-error` : null]
    .filter(Boolean)
    .join(' ');
  return (
    <div className={`check-field${errors?.length ? ' invalid' : ''}`}>
      <label className="check" htmlFor={id}>
        <input
          id={id}
          name={name}
          type="checkbox"
          checked={checked}
          aria-invalid={errors?.length ? true : undefined}
          aria-describedby={describedBy || undefined}
          onChange={(event) => onChange(event.target.checked)}
        />
        {label}
      </label>
      {hint ? (
        <p className="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {errors?.length ? (
        <p className="field-error" id={`${id}-error`}>
          {errors.join('; ')}
        </p>
      ) : null}
    </div>
  );
}
