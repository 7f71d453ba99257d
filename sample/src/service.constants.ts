/** Injection token of the ServiceConfig the app was started with. */
export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');
