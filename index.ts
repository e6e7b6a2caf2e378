import { deployStack } from "./program";

// Pulumi runs this file; everything it deploys is described in program.ts and model/.
const outputs = deployStack(__dirname);

export const grafanaUrl = outputs.grafanaUrl;
export const grafanaDashboardUrls = outputs.grafanaDashboardUrls;
export const grafanaAdminPassword = outputs.grafanaAdminPassword;
export const tempoApiUrl = outputs.tempoApiUrl;
export const appUrl = outputs.appUrl;
export const prometheusUrl = outputs.prometheusUrl;
export const collectorOtlpGrpcUrl = outputs.collectorOtlpGrpcUrl;
export const collectorOtlpHttpUrl = outputs.collectorOtlpHttpUrl;
export const caCertificate = outputs.caCertificate;
export const clientCertificate = outputs.clientCertificate;
export const clientPrivateKey = outputs.clientPrivateKey;
export const verification = outputs.verification;
export const verificationSummary = outputs.verificationSummary;
