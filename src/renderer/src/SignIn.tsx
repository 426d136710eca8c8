import { useId, useState, type FormEvent } from 'react';
import { normalisePastedToken } from './auth-token.js';

export interface SignInProps {
  /** Why the screen is shown: no token yet, or the node refused the one we had. */
  reason: 'missing' | 'refused';
  onToken: (token: string) => void;
}

/** Asks for an API token when the node wants one. */
export function SignIn({ reason, onToken }: SignInProps) {
  const [value, setValue] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const inputId = useId();
  const hintId = useId();
  const errorId = useId();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const token = normalisePastedToken(value);
    if (!token) {
      setProblem('Paste the token (or the whole sign-in link) the node printed.');
      return;
    }
    onToken(token);
  };
  return (
    <main className="app-main sign-in">
      <section className="panel" aria-labelledby="sign-in-heading">
        <h2 id="sign-in-heading">Sign in to this node</h2>
        <p role={reason === 'refused' ? 'alert' : undefined}>
          {reason === 'refused'
            ? 'The node did not accept the token this browser had: it may have expired or been revoked.'
            : 'This node asks for an API token.'}
        </p>
        <p id={hintId}>
          Open the sign-in link the node printed when it started (<code>http://host:port/#token=…</code>), or
          create a token on the node&apos;s machine with <code>buildmesh token create --role Developer</code>{' '}
          and paste it here.
        </p>
        <form onSubmit={submit} noValidate>
          <div className="field">
            <label htmlFor={inputId}>API token</label>
            <input
              id={inputId}
              name="token"
              type="password"
              autoComplete="off"
              spellCheck={false}
              value={value}
              aria-describedby={problem ? `${hintId} ${errorId}` : hintId}
              aria-invalid={problem ? true : undefined}
              onChange={(event) => setValue(event.target.value)}
            />
            {problem ? (
              <p className="field-error" id={errorId}>
                {problem}
              </p>
            ) : null}
          </div>
          <button type="submit" className="primary">
            Sign in
          </button>
        </form>
      </section>
    </main>
  );
}
