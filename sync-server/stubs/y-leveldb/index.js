// Stand-in for y-leveldb (see package.json): @y/websocket-server's utils import this name at load
// time and construct it only when the YPERSISTENCE environment variable is set, which the relay
// refuses at start. Constructing it anyway is a bug, so it says so.
export class LeveldbPersistence {
  constructor () {
    throw new Error('y-leveldb is not installed in the Kingdom relay: rooms persist through src/storage.ts (unset YPERSISTENCE)')
  }
}
