import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/**
 * A private test LAN of network namespaces: one "switch" namespace with a bridge, and one
 * namespace per host with a veth pair into the bridge, on a private subnet with multicast routed
 * onto the veth. Nothing touches the machine's own interfaces. Needs root and iproute2.
 */
export class TestLan {
  readonly hosts: { namespace: string; address: string }[] = [];
  private readonly switchNamespace: string;
  private readonly prefix: string;

  private constructor(private readonly size: number) {
    this.prefix = `bm${randomBytes(2).toString('hex')}`;
    this.switchNamespace = `${this.prefix}-sw`;
  }

  static async create(size: number): Promise<TestLan> {
    const lan = new TestLan(size);
    try {
      await lan.build();
    } catch (error) {
      await lan.destroy();
      throw error;
    }
    return lan;
  }

  private async build(): Promise<void> {
    await ip('netns', 'add', this.switchNamespace);
    await ip('-n', this.switchNamespace, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', this.switchNamespace, 'link', 'set', 'br0', 'up');
    for (let index = 1; index <= this.size; index++) {
      const namespace = `${this.prefix}-h${index}`;
      const address = `10.213.7.${index}`;
      await ip('netns', 'add', namespace);
      // Create the pair inside the host namespace, then move one end to the switch.
      await ip('-n', namespace, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `p${index}`);
      await ip('-n', namespace, 'link', 'set', `p${index}`, 'netns', this.switchNamespace);
      await ip('-n', this.switchNamespace, 'link', 'set', `p${index}`, 'master', 'br0');
      await ip('-n', this.switchNamespace, 'link', 'set', `p${index}`, 'up');
      await ip('-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      await ip('-n', namespace, 'link', 'set', 'eth0', 'multicast', 'on');
      await ip('-n', namespace, 'link', 'set', 'eth0', 'up');
      await ip('-n', namespace, 'link', 'set', 'lo', 'up');
      await ip('-n', namespace, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0');
      this.hosts.push({ namespace, address });
    }
  }

  /** Deletes every namespace this LAN created (safe to call twice, and after a failed create). */
  async destroy(): Promise<void> {
    const namespaces = [...this.hosts.map((host) => host.namespace), this.switchNamespace];
    for (let index = this.hosts.length + 1; index <= this.size; index++)
      namespaces.push(`${this.prefix}-h${index}`);
    for (const namespace of namespaces) await ip('netns', 'delete', namespace).catch(() => undefined);
    this.hosts.length = 0;
  }

  /** Runs a command inside a host's namespace. */
  async exec(namespace: string, file: string, args: string[]): Promise<string> {
    const { stdout } = await exec('ip', ['netns', 'exec', namespace, file, ...args], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  }
}

async function ip(...args: string[]): Promise<void> {
  await exec('ip', args);
}
