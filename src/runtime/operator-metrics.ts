/** Counters of one operator subtask, read by the CLI's progress line and, later, the REST API. */
export class OperatorMetrics {
  recordsIn = 0
  recordsOut = 0
  constructor(
    readonly operatorName: string,
    readonly uid: string,
    readonly subtaskIndex: number,
  ) {}
}
