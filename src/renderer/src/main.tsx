import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiClient } from './api-client.js';
import { App } from './App.js';
import { chooseToken, TOKEN_STORAGE_KEY, tokenFromFragment } from './auth-token.js';
import './styles.css';

const container = document.getElementById('root');
if (!container) throw new Error('index.html has no #root element');

function readStored(): string | null {
  try {
    return window.localStorage.getItem(TOKEN_STORAGE_KEY);
  } catch {
    return null;
  }
}

function saveToken(token: string | null): void {
  try {
    if (token) window.localStorage.setItem(TOKEN_STORAGE_KEY, token);
    else window.localStorage.removeItem(TOKEN_STORAGE_KEY);
  } catch {
    // Storage may be off (private windows); the token then lasts as long as the page.
  }
}

const bridge = window.buildMesh;
const link = tokenFromFragment(window.location.hash);
if (link.token !== null) {
  // The token leaves the address bar (and the history) at once; this browser keeps it instead.
  window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}${link.rest}`);
}
const { token, source } = chooseToken({
  fromLink: link.token,
  fromDesktop: bridge?.token,
  stored: readStored(),
});
if (source === 'link') saveToken(token);

createRoot(container).render(
  <StrictMode>
    <App
      client={ApiClient.forBridge(bridge)}
      nodeAddress={bridge?.apiBaseUrl ?? window.location.origin}
      initialToken={token}
      saveToken={source === 'desktop' ? undefined : saveToken}
    />
  </StrictMode>,
);
