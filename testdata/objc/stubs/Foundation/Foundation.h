/* Foundation subset for the Linux syntax check of pipe's Objective-C shims.
   Declarations follow developer.apple.com/documentation/foundation. */
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <dispatch/dispatch.h>

/* API_AVAILABLE(macos(14.4)) as in Apple's headers. */
#define API_AVAILABLE(x) AB_AVAIL_##x
#define AB_AVAIL_macos(v) __attribute__((availability(macos, introduced = v)))
#define NS_ENUM(type, name) enum name : type name; enum name : type
#define NS_ASSUME_NONNULL_BEGIN _Pragma("clang assume_nonnull begin")
#define NS_ASSUME_NONNULL_END _Pragma("clang assume_nonnull end")
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

typedef signed char BOOL;
#define YES ((BOOL)1)
#define NO ((BOOL)0)
#define nil ((id)0)
typedef long NSInteger;
typedef unsigned long NSUInteger;
typedef const void *CFTypeRef;
typedef struct objc_selector *SEL;
typedef struct _NSRange { NSUInteger location; NSUInteger length; } NSRange;
typedef NSUInteger NSComparisonResult;

CFTypeRef CFBridgingRetain(id X);
id CFBridgingRelease(CFTypeRef X);

@class NSString, NSArray, NSDictionary;

@protocol NSObject
- (BOOL)isKindOfClass:(Class)aClass;
@end

__attribute__((objc_root_class))
@interface NSObject <NSObject> {
  Class isa;
}
+ (instancetype)alloc;
+ (instancetype)new;
+ (Class)class;
- (instancetype)init;
- (BOOL)isKindOfClass:(Class)aClass;
@end

@interface NSString : NSObject
@property(readonly) const char *UTF8String;
@property(readonly) NSUInteger length;
+ (instancetype)stringWithUTF8String:(const char *)s;
- (BOOL)isEqualToString:(NSString *)other;
- (NSComparisonResult)compare:(NSString *)other;
@end

@interface NSNumber : NSObject
@property(readonly) long long longLongValue;
@property(readonly) NSInteger integerValue;
+ (NSNumber *)numberWithInt:(int)v;
+ (NSNumber *)numberWithLong:(long)v;
+ (NSNumber *)numberWithLongLong:(long long)v;
+ (NSNumber *)numberWithUnsignedLongLong:(unsigned long long)v;
+ (NSNumber *)numberWithInteger:(NSInteger)v;
+ (NSNumber *)numberWithUnsignedInteger:(NSUInteger)v;
+ (NSNumber *)numberWithDouble:(double)v;
+ (NSNumber *)numberWithFloat:(float)v;
+ (NSNumber *)numberWithBool:(BOOL)v;
@end

@interface NSValue : NSObject
@property(readonly) NSRange rangeValue;
@end

typedef struct {
  unsigned long state;
  id __unsafe_unretained _Nullable *_Nullable itemsPtr;
  unsigned long *_Nullable mutationsPtr;
  unsigned long extra[5];
} NSFastEnumerationState;

@protocol NSFastEnumeration
- (NSUInteger)countByEnumeratingWithState:(NSFastEnumerationState *)state
                                  objects:(id __unsafe_unretained _Nullable[_Nonnull])buffer
                                    count:(NSUInteger)len;
@end

@interface NSArray<ObjectType> : NSObject <NSFastEnumeration>
@property(readonly) NSUInteger count;
+ (instancetype)arrayWithObjects:(const ObjectType _Nonnull[_Nonnull])objects count:(NSUInteger)cnt;
- (ObjectType)objectAtIndexedSubscript:(NSUInteger)idx;
- (NSArray<ObjectType> *)sortedArrayUsingSelector:(SEL)comparator;
@end

@interface NSMutableArray<ObjectType> : NSArray<ObjectType>
+ (instancetype)array;
+ (instancetype)arrayWithCapacity:(NSUInteger)n;
- (void)addObject:(ObjectType)o;
@end

@interface NSDictionary<KeyType, ObjectType> : NSObject <NSFastEnumeration>
@property(readonly, copy) NSArray<KeyType> *allKeys;
+ (instancetype)dictionaryWithObjects:(const ObjectType _Nonnull[_Nonnull])objects
                              forKeys:(const KeyType _Nonnull[_Nonnull])keys
                                count:(NSUInteger)cnt;
- (ObjectType)objectForKeyedSubscript:(KeyType)key;
@end

@interface NSMutableDictionary<KeyType, ObjectType> : NSDictionary<KeyType, ObjectType>
+ (instancetype)dictionary;
- (void)setObject:(ObjectType)obj forKeyedSubscript:(KeyType)key;
@end

@interface NSData : NSObject
@property(readonly) NSUInteger length;
@property(readonly) const void *bytes;
@end

@interface NSURL : NSObject
+ (NSURL *)fileURLWithPath:(NSString *)path;
@end

typedef NSString *NSErrorDomain;
extern NSErrorDomain const NSCocoaErrorDomain;
extern NSErrorDomain const NSPOSIXErrorDomain;

@interface NSError : NSObject
@property(readonly, copy) NSErrorDomain domain;
@property(readonly) NSInteger code;
@property(readonly, copy) NSString *localizedDescription;
@end

@interface NSException : NSObject
@property(readonly, copy) NSString *reason;
@end

@interface NSFileManager : NSObject
@property(class, readonly, strong) NSFileManager *defaultManager;
- (BOOL)moveItemAtURL:(NSURL *)src toURL:(NSURL *)dst error:(NSError **)error;
@end

typedef NS_ENUM(NSUInteger, NSJSONWritingOptions){NSJSONWritingSortedKeys = 2};
@interface NSJSONSerialization : NSObject
+ (NSData *)dataWithJSONObject:(id)obj options:(NSJSONWritingOptions)opt error:(NSError **)error;
@end

typedef NS_ENUM(NSInteger, NSProcessInfoThermalState){
    NSProcessInfoThermalStateNominal, NSProcessInfoThermalStateFair,
    NSProcessInfoThermalStateSerious, NSProcessInfoThermalStateCritical};
@interface NSProcessInfo : NSObject
@property(class, readonly, strong) NSProcessInfo *processInfo;
@property(readonly) NSProcessInfoThermalState thermalState;
@end
