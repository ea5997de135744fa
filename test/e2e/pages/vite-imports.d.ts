/** Vite's `?worker&url` import (a URL string of the bundled worker), for tsc without vite/client. */
declare module '*?worker&url' {
  const url: string;
  export default url;
}
