import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiClient } from './api-client.js';
import { App } from './App.js';
import './styles.css';

const container = document.getElementById('root');
if (!container) throw new Error('index.html has no #root element');

const bridge = window.buildMesh;
const client = ApiClient.forBridge(bridge);
createRoot(container).render(
  <StrictMode>
    <App client={client} nodeAddress={bridge?.apiBaseUrl ?? window.location.origin} />
  </StrictMode>,
);
