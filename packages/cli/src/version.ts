/** The CLI's version, as `stagecraft --version` prints it. */
export const VERSION = "0.1.0";
