/**
 * What the browser says about this device, for the header: whether it is online
 * (`navigator.onLine` and the online/offline events) and whether it granted persistent storage
 * (`navigator.storage.persisted()`). The Storage page updates `persisted` after asking for it.
 */
class DeviceStatus {
  online = $state(typeof navigator === 'undefined' ? true : navigator.onLine);
  /** null until the browser answered (or when it cannot tell). */
  persisted = $state<boolean | null>(null);
  #started = false;

  /** Listen for online/offline and read the persistence flag once (idempotent). */
  start(): void {
    if (this.#started || typeof window === 'undefined') return;
    this.#started = true;
    window.addEventListener('online', () => (this.online = true));
    window.addEventListener('offline', () => (this.online = false));
    void this.refreshPersisted();
  }

  async refreshPersisted(): Promise<void> {
    try {
      this.persisted = (await navigator.storage?.persisted?.()) ?? null;
    } catch {
      this.persisted = null;
    }
  }
}

export const deviceStatus = new DeviceStatus();
