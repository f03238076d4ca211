// dusk's version, in one place (the CLI prints it; reports record it).
export const VERSION = "0.1.0";
