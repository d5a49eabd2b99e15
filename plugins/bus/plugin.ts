// The bus plugin: installs the Message Bus and ties it to the deploy flow —
// a stub's route opens at `attach`, holds its messages while the stub is down
// or disconnected, replays what a dying stub held, and closes at `undeploy`.
import type { Plugin } from '../../kernel/runtime.ts';
import { MessageBus, type BusOptions } from './message-bus.ts';

export { MessageBus, type BusOptions } from './message-bus.ts';

export function busPlugin(options: BusOptions = {}): Plugin {
  return {
    name: 'BusPlugin',
    apply(runtime) {
      const bus = new MessageBus(runtime, options);
      runtime.provide('bus', bus);

      runtime.hooks.attach.tapPromise('BusPlugin', async (context) => bus.attachStub(context.stub!, context.instance!));
      runtime.hooks.stubFailed.tap('BusPlugin', (record, error, unprocessed, suspects) =>
        bus.stubFailed(record, error, unprocessed, suspects));
      runtime.hooks.status.tap('BusPlugin', (record, value) => bus.followStatus(record, value));
      runtime.hooks.stopInstance.tapPromise('BusPlugin', async (record) => bus.pause(record));
      // Taps before the sandbox's (plugin order): the stub is still running
      // when it is asked to end its back-end session.
      runtime.hooks.undeploy.tapPromise('BusPlugin', async (record, reason) => {
        await bus.endSession(record, reason);
        bus.detachStub(record);
      });
    },
  };
}
