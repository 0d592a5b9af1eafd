/* hms_blowfish.c - hMailServer's reversible "encryption" of the database
 * password in hMailServer.INI (PasswordEncryption=1).
 *
 * What hMailServer does (Server/Common/Util/BlowFish.cpp):
 *   - standard Blowfish (16 rounds, the usual pi-derived tables and key
 *     schedule) keyed with the 22 ASCII bytes THIS_KEY_IS_NOT_SECRET;
 *   - ECB mode, the plain text zero-padded to a multiple of 8 bytes;
 *   - each 8-byte block is handed to the cipher as two 32-bit words read
 *     straight from memory on x86, i.e. LITTLE-endian, and written back the
 *     same way;
 *   - the cipher text is written as lowercase hex, two digits per byte.
 * Decryption reverses this and keeps the bytes up to the first NUL.
 *
 * nettle implements the same cipher but loads and stores the words
 * big-endian (as Schneier's test vectors do), so we reverse the bytes of
 * every 32-bit word before and after calling it.
 *
 * The key is public; this only keeps the password from being read at a
 * glance.  hMailServer encrypts the password in the Windows ANSI code page,
 * so a non-ASCII password from a real INI decrypts to those bytes (e.g.
 * Windows-1252), which are passed on unchanged.
 */
#include "config/config.h"

#include <nettle/blowfish.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char hms_key[] = "THIS_KEY_IS_NOT_SECRET";

/* hMailServer copies the password into a 255-byte buffer before
 * encrypting it and cannot handle longer ones; we refuse them rather than
 * write something it would misread.  (Its INI reader also keeps only 254
 * characters of a value, so hMailServer itself reads back encrypted
 * passwords of at most 120 bytes; we have no such limit when decrypting.) */
#define HMS_MAX_PLAIN 255

static int hms_cipher(struct blowfish_ctx *ctx, ms_err *e)
{
	if (!blowfish_set_key(ctx, sizeof hms_key - 1, (const uint8_t *)hms_key))
		return ms_err_set(e, MS_E_INTERNAL, "Blowfish: nettle refused hMailServer's key as weak");
	return 0;
}

/* Reverse the byte order of every 32-bit word: hMailServer's little-endian
 * words to nettle's big-endian ones and back. */
static void swap_words(uint8_t *buf, size_t len)
{
	for (size_t i = 0; i + 4 <= len; i += 4) {
		uint8_t b0 = buf[i], b1 = buf[i + 1];
		buf[i] = buf[i + 3];
		buf[i + 1] = buf[i + 2];
		buf[i + 2] = b1;
		buf[i + 3] = b0;
	}
}

/* Encrypt or decrypt `len` bytes (a multiple of 8) in place, ECB, with
 * hMailServer's word order. */
static int hms_crypt_blocks(uint8_t *buf, size_t len, bool encrypt, ms_err *e)
{
	struct blowfish_ctx ctx;
	if (hms_cipher(&ctx, e) < 0)
		return -1;
	swap_words(buf, len);
	if (encrypt)
		blowfish_encrypt(&ctx, len, buf, buf);
	else
		blowfish_decrypt(&ctx, len, buf, buf);
	swap_words(buf, len);
	return 0;
}

static int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex text to bytes.  The message never quotes the text: with a public key
 * it is as good as the password itself. */
static int hex_to_bytes(const char *hex, uint8_t **out, size_t *out_len, ms_err *e)
{
	size_t digits = strlen(hex);
	if (digits % 2)
		return ms_err_set(e, MS_E_CONFIG,
		                  "encrypted password has an odd number of hex digits (%zu)", digits);
	if (digits % (2 * BLOWFISH_BLOCK_SIZE))
		return ms_err_set(e, MS_E_CONFIG,
		                  "encrypted password has %zu hex digits; hMailServer writes a multiple of 16",
		                  digits);
	uint8_t *bytes = malloc(digits / 2 + 1);
	if (!bytes)
		return ms_err_set(e, MS_E_NOMEM, "out of memory decoding the encrypted password");
	for (size_t i = 0; i < digits; i += 2) {
		int hi = hex_digit_value(hex[i]), lo = hex_digit_value(hex[i + 1]);
		if (hi < 0 || lo < 0) {
			free(bytes);
			return ms_err_set(e, MS_E_CONFIG,
			                  "encrypted password: character %zu is not a hexadecimal digit",
			                  i + (hi < 0 ? 1 : 2));
		}
		bytes[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*out = bytes;
	*out_len = digits / 2;
	return 0;
}

int ms_hms_blowfish_decrypt(const char *hex, char **out, ms_err *e)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	*out = NULL;
	if (hex_to_bytes(hex, &buf, &len, e) < 0)
		return -1;
	if (hms_crypt_blocks(buf, len, false, e) < 0) {
		free(buf);
		return -1;
	}
	/* The plain text ends at the first NUL: the padding, or the end of the
	 * block when the password filled it. */
	buf[len] = '\0';
	*out = (char *)buf;
	return 0;
}

int ms_hms_blowfish_encrypt(const char *plain, char **out_hex, ms_err *e)
{
	static const char digits[] = "0123456789abcdef";
	size_t plain_len = strlen(plain);
	*out_hex = NULL;
	if (plain_len > HMS_MAX_PLAIN)
		return ms_err_set(e, MS_E_USAGE,
		                  "password of %zu bytes is too long for hMailServer's encryption (at most %d)",
		                  plain_len, HMS_MAX_PLAIN);
	size_t padded = (plain_len + BLOWFISH_BLOCK_SIZE - 1) / BLOWFISH_BLOCK_SIZE * BLOWFISH_BLOCK_SIZE;
	uint8_t buf[HMS_MAX_PLAIN + BLOWFISH_BLOCK_SIZE] = { 0 };
	memcpy(buf, plain, plain_len);
	char *hex = malloc(2 * padded + 1);
	if (!hex)
		return ms_err_set(e, MS_E_NOMEM, "out of memory encrypting a password");
	if (hms_crypt_blocks(buf, padded, true, e) < 0) {
		free(hex);
		return -1;
	}
	for (size_t i = 0; i < padded; i++) {
		hex[2 * i] = digits[buf[i] >> 4];
		hex[2 * i + 1] = digits[buf[i] & 0xf];
	}
	hex[2 * padded] = '\0';
	*out_hex = hex;
	return 0;
}
