package refreshing

import "strings"

// DeviceName derives a readable device name ("Chrome on macOS") from a
// User-Agent header. It knows the common browsers and platforms and the HTTP
// stacks mobile apps use; anything else is "Unknown device". It never returns
// text from the header itself, so the result is always safe to display.
func DeviceName(ua string) string {
	if ua == "" {
		return "Unknown device"
	}
	if len(ua) > 1024 {
		ua = ua[:1024]
	}
	browser := firstMatch(ua, []pattern{
		{"Edg/", "Edge"}, {"EdgA/", "Edge"}, {"EdgiOS/", "Edge"},
		{"OPR/", "Opera"}, {"SamsungBrowser/", "Samsung Internet"},
		{"Firefox/", "Firefox"}, {"FxiOS/", "Firefox"},
		{"CriOS/", "Chrome"}, {"Chromium/", "Chromium"}, {"Chrome/", "Chrome"},
		{"Version/", "Safari"}, {"okhttp/", "Android app"}, {"Dart/", "Flutter app"},
		{"CFNetwork/", "iOS app"}, {"Expo/", "Expo app"}, {"curl/", "curl"},
		{"PostmanRuntime/", "Postman"}, {"Go-http-client/", "Go client"},
		{"python-requests/", "Python client"}, {"node-fetch", "Node.js client"}, {"axios/", "axios"},
	})
	platform := firstMatch(ua, []pattern{
		{"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Android", "Android"},
		{"CrOS", "ChromeOS"}, {"Windows", "Windows"},
		{"Macintosh", "macOS"}, {"Mac OS X", "macOS"}, {"Darwin", "macOS"}, {"Linux", "Linux"},
	})
	switch {
	case browser != "" && platform != "":
		return browser + " on " + platform
	case browser != "":
		return browser
	case platform != "":
		return "Browser on " + platform
	}
	return "Unknown device"
}

type pattern struct{ needle, name string }

func firstMatch(s string, ps []pattern) string {
	for _, p := range ps {
		if strings.Contains(s, p.needle) {
			return p.name
		}
	}
	return ""
}
