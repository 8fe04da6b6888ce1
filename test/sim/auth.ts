// GitHub App authentication: the app's RS256 key pair (generated at test time, never stored),
// app JWT verification with the public key, installation access tokens and user tokens.
import { createPublicKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from "node:crypto";
import { HttpError } from "./world.ts";

export interface AppKeyPair { privateKeyPem: string; publicKey: KeyObject }

/** A fresh 2048-bit RSA key in PKCS#1 PEM, the format GitHub hands out for App private keys. */
export function generateAppKeyPair(): AppKeyPair {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
  return { privateKeyPem: privateKey, publicKey: createPublicKey(privateKey) };
}

export type Actor =
  | { kind: "app" }
  | { kind: "installation"; installationId: number; login: string; token: string }
  | { kind: "user"; login: string; token: string };

interface TokenRecord { actor: Actor; expiresAt: number }

const b64urlJson = (s: string): unknown => JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
const BASE62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const randomToken = (prefix: string) => prefix + [...randomBytes(36)].map((b) => BASE62[b % 62]).join("");

export class AppAuth {
  readonly #tokens = new Map<string, TokenRecord>();

  private readonly publicKey: KeyObject;
  private readonly appId: number;
  private readonly clientId: string;
  private readonly botLogin: string;

  constructor(publicKey: KeyObject, appId: number, clientId: string, botLogin: string) {
    this.publicKey = publicKey;
    this.appId = appId;
    this.clientId = clientId;
    this.botLogin = botLogin;
  }

  /** Verifies an app JWT as GitHub does: RS256, valid signature, iss = app, iat/exp within 10 minutes. */
  verifyJwt(jwt: string): void {
    const parts = jwt.split(".");
    if (parts.length !== 3) throw new HttpError(401, "A JSON web token could not be decoded");
    const [h, p, s] = parts as [string, string, string];
    let header: { alg?: string }, payload: { iss?: unknown; iat?: unknown; exp?: unknown };
    try { header = b64urlJson(h) as typeof header; payload = b64urlJson(p) as typeof payload; } catch { throw new HttpError(401, "A JSON web token could not be decoded"); }
    if (header.alg !== "RS256") throw new HttpError(401, "A JSON web token could not be decoded");
    if (!verify("RSA-SHA256", Buffer.from(`${h}.${p}`), this.publicKey, Buffer.from(s, "base64url"))) {
      throw new HttpError(401, "A JSON web token could not be decoded");
    }
    if (String(payload.iss) !== String(this.appId) && payload.iss !== this.clientId) throw new HttpError(401, "'Issuer' claim ('iss') must be an Integer");
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.iat !== "number" || typeof payload.exp !== "number") throw new HttpError(401, "A JSON web token could not be decoded");
    if (payload.iat > now + 60) throw new HttpError(401, "'Issued at' claim ('iat') must be an Integer representing a time in the past");
    if (payload.exp <= now) throw new HttpError(401, "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires");
    if (payload.exp - payload.iat > 600) throw new HttpError(401, "'Expiration time' claim ('exp') is too far in the future");
  }

  issueInstallationToken(installationId: number): { token: string; expiresAt: Date } {
    const token = randomToken("ghs_");
    const expiresAt = Date.now() + 3600_000;
    this.#tokens.set(token, { actor: { kind: "installation", installationId, login: this.botLogin, token }, expiresAt });
    return { token, expiresAt: new Date(expiresAt) };
  }

  /** A token acting as a human user (for tests that drive the REST API as a person). */
  issueUserToken(login: string): string {
    const token = randomToken("ghu_");
    this.#tokens.set(token, { actor: { kind: "user", login, token }, expiresAt: Number.MAX_SAFE_INTEGER });
    return token;
  }

  revoke(token: string): void { this.#tokens.delete(token); }

  /** Resolves the Authorization header; throws 401 like GitHub ("Bad credentials"). */
  authenticate(header: string | undefined, wantApp: boolean): Actor {
    const m = /^(?:bearer|token)\s+(\S+)$/i.exec(header ?? "");
    if (!m) throw new HttpError(401, "Requires authentication");
    const credential = m[1]!;
    if (credential.split(".").length === 3) {
      this.verifyJwt(credential);
      if (!wantApp) throw new HttpError(401, "Bad credentials");
      return { kind: "app" };
    }
    const rec = this.#tokens.get(credential);
    if (!rec || rec.expiresAt <= Date.now()) throw new HttpError(401, "Bad credentials");
    if (wantApp) throw new HttpError(401, "A JSON web token could not be decoded");
    return rec.actor;
  }
}
