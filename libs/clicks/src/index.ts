export * from './capture/click-capture.module';
