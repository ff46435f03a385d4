/** Stylesheets are bundled by vite; importing one only adds it to the page. */
declare module '*.css' {}
