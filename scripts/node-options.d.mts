/** Types of node-options.mjs (the chart's Node options of each component). */
export declare function chartNodeOptions(component: 'api' | 'worker'): string;
