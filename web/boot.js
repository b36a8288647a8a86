// Loads the wizard. A file of its own because the Content-Security-Policy forbids inline scripts.
import init from './hagen-web.js';
init();
