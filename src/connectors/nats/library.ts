import type * as JetStreamModule from '@nats-io/jetstream'
import type * as TransportModule from '@nats-io/transport-node'

/** The NATS client modules. */
export interface NatsLibrary {
  transport: typeof TransportModule
  jetstream: typeof JetStreamModule
}

let loading: Promise<NatsLibrary> | undefined
let loaded: NatsLibrary | undefined

/** Loads the NATS client on first use, so that importing Weir does not load every connector's client. */
export function loadNats(): Promise<NatsLibrary> {
  loading ??= Promise.all([import('@nats-io/transport-node'), import('@nats-io/jetstream')]).then(([transport, jetstream]) => (loaded = { transport, jetstream }))
  return loading
}

/** The client if it was loaded already (it is, once anything connected). */
export function loadedNats(): NatsLibrary | undefined {
  return loaded
}
