import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { apiBaseUrlArgument } from './api-base-url-argument.js';
import { withCorsFor } from './cors-headers.js';
import {
  isTrustedSender,
  linuxAutostartEntry,
  resourcesDirectory,
  startedHidden,
  trayIconPath,
} from './desktop-paths.js';
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

describe('desktop paths', () => {
  it('finds the icons in development and when packaged', () => {
    expect(
      resourcesDirectory({ isPackaged: false, resourcesPath: '/x', mainDirectory: '/app/out/main' }),
    ).toBe('/app/resources');
    expect(
      resourcesDirectory({
        isPackaged: true,
        resourcesPath: '/opt/Build Mesh/resources',
        mainDirectory: '/z',
      }),
    ).toBe('/opt/Build Mesh/resources/app.asar.unpacked/resources');
    expect(trayIconPath('/app/resources', 'paused')).toBe('/app/resources/tray-paused.png');
  });
});

describe('isTrustedSender', () => {
  const file = { kind: 'file', path: '/app/out/renderer/index.html' } as const;
  const dev = { kind: 'url', url: 'http://localhost:5173/' } as const;

  it('trusts the app page only', () => {
    expect(isTrustedSender('file:///app/out/renderer/index.html#/builds', file)).toBe(true);
    expect(isTrustedSender('file:///etc/passwd', file)).toBe(false);
    expect(isTrustedSender('https://example.com/', file)).toBe(false);
    expect(isTrustedSender(undefined, file)).toBe(false);
    expect(isTrustedSender('http://localhost:5173/builds', dev)).toBe(true);
    expect(isTrustedSender('http://localhost:5174/', dev)).toBe(false);
    expect(isTrustedSender('not a url', dev)).toBe(false);
  });
});

describe('linuxAutostartEntry and startedHidden', () => {
  it('starts the app hidden at login, quoting paths with spaces', () => {
    expect(linuxAutostartEntry('/opt/Build Mesh/build-mesh')).toContain(
      'Exec="/opt/Build Mesh/build-mesh" --hidden',
    );
    expect(linuxAutostartEntry('/usr/bin/build-mesh')).toContain('Exec=/usr/bin/build-mesh --hidden');
    expect(startedHidden(['/usr/bin/build-mesh', '--hidden'], false)).toBe(true);
    expect(startedHidden(['/usr/bin/build-mesh'], true)).toBe(true);
    expect(startedHidden(['/usr/bin/build-mesh'], false)).toBe(false);
  });
});
