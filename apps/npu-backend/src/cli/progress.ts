/**
 * Progress on stderr: one line redrawn in place on a terminal, a plain line per 10% otherwise, so
 * logs stay readable.
 */
export interface Progress {
  update(fraction: number, label?: string): void;
  done(message?: string): void;
}

export function progressBar(title: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  let lastTenth = -1;
  let drawn = false;
  return {
    update(fraction: number, label = "") {
      const f = Math.max(0, Math.min(1, fraction));
      if (tty) {
        const width = 24;
        const filled = Math.round(f * width);
        stream.write(
          `\r${title} [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${label}\x1b[K`,
        );
        drawn = true;
        return;
      }
      const tenth = Math.floor(f * 10);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        stream.write(`${title}: ${(f * 100).toFixed(0)}% ${label}\n`);
      }
    },
    done(message?: string) {
      if (tty && drawn) stream.write("\r\x1b[K");
      if (message) stream.write(`${title}: ${message}\n`);
    },
  };
}
