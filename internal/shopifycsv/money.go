// Package shopifycsv reads and writes Shopify's CSV formats: the orders export (one row
// per line item, order fields on the first row of each order) and the product CSV in its
// two header dialects, with decimal amounts turned into exact minor units. It owns the
// file format only: it must not touch the database.
package shopifycsv

import (
	"errors"
	"strconv"
	"strings"
)

// minorUnitDigits lists the ISO 4217 currencies whose minor unit is not a hundredth.
var minorUnitDigits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// minorDigits is how many decimal places currency's minor unit has (2 unless listed).
func minorDigits(currency string) int {
	if d, ok := minorUnitDigits[strings.ToUpper(currency)]; ok {
		return d
	}
	return 2
}

// maxMinor bounds parsed amounts far below int64 overflow, even once summed.
const maxMinor = 1 << 53

// ParseMoney reads a decimal amount such as "1659.95" as minor units of currency, exactly:
// no floating point. An empty cell is zero. More decimals than the currency has are
// accepted only when the extra digits are zeros ("10.000" in EUR); a sign, exponent,
// thousands separator or negative amount is an error.
func ParseMoney(s, currency string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	digits := minorDigits(currency)
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && (!hasDot || frac == "") {
		return 0, errors.New("is not a decimal amount")
	}
	if !allDigits(whole) || !allDigits(frac) {
		return 0, errors.New("is not a decimal amount such as 12.50")
	}
	if len(frac) > digits {
		if strings.Trim(frac[digits:], "0") != "" {
			return 0, errors.New("has more decimals than " + strconv.Itoa(digits))
		}
		frac = frac[:digits]
	}
	frac += strings.Repeat("0", digits-len(frac))
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 15 {
		return 0, errors.New("is too large")
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if whole+frac == "" {
		n, err = 0, nil
	}
	if err != nil || n > maxMinor {
		return 0, errors.New("is too large")
	}
	return n, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FormatMoney writes minor units of currency as Shopify's CSVs do: "1659.95", no
// separators or symbol.
func FormatMoney(minor int64, currency string) string {
	digits := minorDigits(currency)
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	s := strconv.FormatInt(minor, 10)
	if digits == 0 {
		return sign + s
	}
	if len(s) <= digits {
		s = strings.Repeat("0", digits-len(s)+1) + s
	}
	return sign + s[:len(s)-digits] + "." + s[len(s)-digits:]
}
