import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { apiBaseUrlArgument } from './api-base-url-argument.js';
import { withCorsFor } from './cors-headers.js';
import { externalUrlToOpen, rendererLocation } from './renderer-location.js';
import { describeStartupError } from './startup-error.js';

describe('apiBaseUrlArgument', () => {
  it('is one switch=value argument', () => {
    expect(apiBaseUrlArgument('http://127.0.0.1:5000')).toBe(
      '--buildmesh-api-base-url=http://127.0.0.1:5000',
    );
  });
});

describe('rendererLocation', () => {
  const builtIndexHtml = '/app/out/renderer/index.html';

  it('uses the dev server in development', () => {
    expect(
      rendererLocation({ devServerUrl: 'http://localhost:5173', isPackaged: false, builtIndexHtml }),
    ).toEqual({
      kind: 'url',
      url: 'http://localhost:5173',
    });
  });

  it('loads the built file otherwise, and always when packaged', () => {
    expect(rendererLocation({ devServerUrl: undefined, isPackaged: false, builtIndexHtml })).toEqual({
      kind: 'file',
      path: builtIndexHtml,
    });
    expect(
      rendererLocation({ devServerUrl: 'http://evil.example', isPackaged: true, builtIndexHtml }),
    ).toEqual({
      kind: 'file',
      path: builtIndexHtml,
    });
  });
});

describe('externalUrlToOpen', () => {
  it('opens only http(s) links', () => {
    expect(externalUrlToOpen('https://learn.microsoft.com/dotnet')).toBe(
      'https://learn.microsoft.com/dotnet',
    );
    expect(externalUrlToOpen('file:///etc/passwd')).toBeNull();
    expect(externalUrlToOpen('smb://share/x')).toBeNull();
    expect(externalUrlToOpen('not a url')).toBeNull();
  });
});

describe('withCorsFor', () => {
  it('opens the response to the one origin and replaces any CORS header already there', () => {
    const headers = withCorsFor('http://localhost:5173', {
      'Content-Type': ['application/json'],
      'access-control-allow-origin': ['*'],
    });
    expect(headers).toEqual({
      'Content-Type': ['application/json'],
      'Access-Control-Allow-Origin': ['http://localhost:5173'],
      'Access-Control-Allow-Methods': ['GET, POST, OPTIONS'],
      'Access-Control-Allow-Headers': ['Authorization, Content-Type'],
    });
  });
});

describe('describeStartupError', () => {
  const address = { apiHost: '127.0.0.1', apiPort: 5000, dataDir: '/home/dev/.config/Build Mesh' };

  it('says which port is taken and where to change it', () => {
    const error = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' });
    const text = describeStartupError(error, address);
    expect(text).toContain('Port 5000 on 127.0.0.1 is already in use');
    expect(text).toContain('BUILDMESH_API_PORT');
    expect(text).toContain('config.json');
  });

  it('lists config problems as the config loader wrote them', () => {
    const error = new ConfigError([{ field: 'apiPort', message: 'Too big (from file config.json)' }]);
    expect(describeStartupError(error, null)).toBe(error.message);
  });

  it('falls back to the message, or the value itself', () => {
    expect(describeStartupError(new Error('disk full'), address)).toBe('disk full');
    expect(describeStartupError('odd', null)).toBe('odd');
  });
});
