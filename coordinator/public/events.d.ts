/** Types of events.js, for the tests that import it (the browser loads the JavaScript alone). */
export interface StreamEvent {
  readonly event: string;
  readonly data: string;
}

export declare class EventStreamParser {
  feed(text: string): StreamEvent[];
}

export declare function readEvents(response: Response, signal?: AbortSignal): AsyncGenerator<StreamEvent, void, undefined>;
