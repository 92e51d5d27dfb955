/** Entry point of the `gearbox` CLI: dispatches to one module per subcommand. */
export async function main(argv: string[]): Promise<number> {
  process.stderr.write(`gearbox: not implemented yet: ${argv.join(" ")}\n`);
  return 2;
}
