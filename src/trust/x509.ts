/**
 * The one door to @peculiar/x509 inside the trust module. Its v2 resolves
 * algorithms through tsyringe, which needs the Reflect metadata API before
 * the library loads; importing the polyfill here, ahead of the library,
 * guarantees that order wherever the module is entered from.
 */
import 'reflect-metadata';

export * from '@peculiar/x509';
