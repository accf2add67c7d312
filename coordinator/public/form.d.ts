/** Types of form.js's pure part, for the tests that import it (the browser loads the JavaScript alone). */
export declare function framesMade(n: number, compression: number): number;
