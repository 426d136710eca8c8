import { Menu, Tray, nativeImage, type MenuItemConstructorOptions } from 'electron';
import {
  trayMenu,
  trayState,
  trayTooltip,
  type TrayAction,
  type TrayFacts,
  type TrayMenuItem,
} from '../core/tray-menu.js';
import { trayIconPath } from './desktop-paths.js';

/** Electron's menu template of the tray's menu model; choosing an item runs its action. */
export function menuTemplate(
  items: readonly TrayMenuItem[],
  run: (action: TrayAction) => void,
): MenuItemConstructorOptions[] {
  return items.map((item): MenuItemConstructorOptions => {
    switch (item.kind) {
      case 'separator':
        return { type: 'separator' };
      case 'label':
        return { label: item.label, enabled: false };
      case 'action':
        return { label: item.label, enabled: item.enabled, click: () => run(item.action) };
      case 'radio':
      case 'checkbox':
        return {
          type: item.kind,
          label: item.label,
          checked: item.checked,
          enabled: item.enabled,
          click: () => run(item.action),
        };
      case 'submenu':
        return { label: item.label, enabled: item.enabled, submenu: menuTemplate(item.items, run) };
    }
  });
}

/** The tray icon: redrawn from the node's facts whenever they change. */
export class DesktopTray {
  private readonly tray: Tray;
  private lastState = '';

  constructor(
    private readonly resources: string,
    private readonly run: (action: TrayAction) => void,
  ) {
    this.tray = new Tray(nativeImage.createFromPath(trayIconPath(resources, 'offline')));
  }

  update(facts: TrayFacts): void {
    const state = trayState(facts);
    if (state !== this.lastState) {
      this.tray.setImage(nativeImage.createFromPath(trayIconPath(this.resources, state)));
      this.lastState = state;
    }
    this.tray.setToolTip(trayTooltip(facts));
    this.tray.setContextMenu(Menu.buildFromTemplate(menuTemplate(trayMenu(facts), this.run)));
  }

  destroy(): void {
    this.tray.destroy();
  }
}
