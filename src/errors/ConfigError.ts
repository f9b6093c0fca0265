/** Configuration is missing or invalid; `problems` holds one line per problem, each naming the variable and the fix. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(problems.join('\n'));
    this.name = this.constructor.name;
    this.problems = problems;
  }
}
